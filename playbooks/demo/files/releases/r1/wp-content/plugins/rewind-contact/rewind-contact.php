<?php
/**
 * Plugin Name:       Rewind Contact
 * Plugin URI:        https://example.com/rewind-contact
 * Description:       A small contact form for the rewind demo site: the [rewind_contact] shortcode renders it, messages are stored in the {prefix}rewind_contact table.
 * Version:           1.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            rewind developers
 * License:           GPL-2.0-or-later
 * Text Domain:       rewind-contact
 */

defined( 'ABSPATH' ) || exit;

const REWIND_CONTACT_VERSION = '1.0';

function rewind_contact_table() {
	global $wpdb;
	return $wpdb->prefix . 'rewind_contact';
}

/**
 * Create (or bring up to date) the plugin's table and settings. Runs on activation;
 * safe to run again (dbDelta, add_option). Returns what it changed.
 */
function rewind_contact_install() {
	global $wpdb;
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$table   = rewind_contact_table();
	$charset = $wpdb->get_charset_collate();
	$changes = dbDelta(
		"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  name varchar(100) NOT NULL,
  email varchar(100) NOT NULL,
  message text NOT NULL,
  created_at datetime NOT NULL,
  PRIMARY KEY  (id),
  KEY email (email)
) {$charset};"
	);
	$added = add_option(
		'rewind_contact_settings',
		array(
			'recipient' => get_option( 'admin_email' ),
			'subject'   => 'New message from the website',
			'thanks'    => 'Thank you, we will get back to you soon.',
		)
	);
	if ( $added ) {
		$changes[] = 'Added option rewind_contact_settings';
	}
	if ( get_option( 'rewind_contact_db_version' ) !== REWIND_CONTACT_VERSION ) {
		update_option( 'rewind_contact_db_version', REWIND_CONTACT_VERSION );
		$changes[] = 'Set rewind_contact_db_version to ' . REWIND_CONTACT_VERSION;
	}
	return array_values( $changes );
}
register_activation_hook( __FILE__, 'rewind_contact_install' );

/**
 * Store one message; returns its id (0 on failure).
 */
function rewind_contact_store( $name, $email, $message, $created_at = null ) {
	global $wpdb;
	$ok = $wpdb->insert(
		rewind_contact_table(),
		array(
			'name'       => $name,
			'email'      => $email,
			'message'    => $message,
			'created_at' => $created_at ? $created_at : current_time( 'mysql', true ),
		),
		array( '%s', '%s', '%s', '%s' )
	);
	return $ok ? (int) $wpdb->insert_id : 0;
}

function rewind_contact_settings() {
	return wp_parse_args(
		get_option( 'rewind_contact_settings', array() ),
		array(
			'recipient' => get_option( 'admin_email' ),
			'subject'   => 'New message from the website',
			'thanks'    => 'Thank you.',
		)
	);
}

/**
 * Handle a posted form: store it, mail the recipient, go back to the page.
 */
function rewind_contact_handle_post() {
	if ( empty( $_POST['rewind_contact_nonce'] ) ) {
		return;
	}
	if ( ! wp_verify_nonce( sanitize_key( wp_unslash( $_POST['rewind_contact_nonce'] ) ), 'rewind_contact' ) ) {
		wp_die( esc_html__( 'The form has expired, please try again.', 'rewind-contact' ), '', array( 'response' => 400 ) );
	}
	$name    = sanitize_text_field( wp_unslash( $_POST['rewind_contact_name'] ?? '' ) );
	$email   = sanitize_email( wp_unslash( $_POST['rewind_contact_email'] ?? '' ) );
	$message = sanitize_textarea_field( wp_unslash( $_POST['rewind_contact_message'] ?? '' ) );
	$status  = 'invalid';
	if ( '' !== $name && is_email( $email ) && '' !== $message ) {
		$status   = rewind_contact_store( $name, $email, $message ) ? 'sent' : 'error';
		$settings = rewind_contact_settings();
		wp_mail( $settings['recipient'], $settings['subject'], $name . ' <' . $email . ">\n\n" . $message );
	}
	wp_safe_redirect( add_query_arg( 'rewind_contact', $status, wp_get_referer() ? wp_get_referer() : home_url( '/' ) ) );
	exit;
}
add_action( 'init', 'rewind_contact_handle_post' );

/**
 * [rewind_contact]: the form.
 */
function rewind_contact_shortcode() {
	$notice = '';
	if ( isset( $_GET['rewind_contact'] ) && 'sent' === $_GET['rewind_contact'] ) {
		$notice = '<p class="rewind-contact-thanks">' . esc_html( rewind_contact_settings()['thanks'] ) . '</p>';
	}
	ob_start();
	?>
	<?php echo $notice; // phpcs:ignore WordPress.Security.EscapeOutput ?>
	<form class="rewind-contact" method="post" action="">
		<?php wp_nonce_field( 'rewind_contact', 'rewind_contact_nonce' ); ?>
		<p><label>Name <input type="text" name="rewind_contact_name" required></label></p>
		<p><label>Email <input type="email" name="rewind_contact_email" required></label></p>
		<p><label>Message <textarea name="rewind_contact_message" rows="5" required></textarea></label></p>
		<p><button type="submit">Send</button></p>
	</form>
	<?php
	return ob_get_clean();
}
add_shortcode( 'rewind_contact', 'rewind_contact_shortcode' );
