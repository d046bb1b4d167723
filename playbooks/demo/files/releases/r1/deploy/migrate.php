<?php
/**
 * Release r1 (rewind-contact 1.0, rewind-classic 1.0), database part: activate the
 * plugin and the theme, run the plugin's install routine. Run by bin/wp-migrate.php
 * with WordPress loaded; returns the list of what it changed.
 */

defined( 'ABSPATH' ) || exit;
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$changes = array();
$plugin  = 'rewind-contact/rewind-contact.php';

if ( ! is_plugin_active( $plugin ) ) {
	$activated = activate_plugin( $plugin );
	if ( is_wp_error( $activated ) ) {
		rewind_demo_fail( 'activating ' . $plugin . ': ' . $activated->get_error_message() );
	}
	$changes[] = 'activated plugin rewind-contact';
}
if ( ! function_exists( 'rewind_contact_install' ) ) {
	rewind_demo_fail( $plugin . ' did not load: is release r1 in wp-content/plugins?' );
}
foreach ( rewind_contact_install() as $change ) {
	$changes[] = 'rewind-contact: ' . $change;
}

if ( 'rewind-classic' !== get_stylesheet() ) {
	$theme = wp_get_theme( 'rewind-classic' );
	if ( ! $theme->exists() ) {
		rewind_demo_fail( 'theme rewind-classic is missing from wp-content/themes' );
	}
	switch_theme( 'rewind-classic' );
	$changes[] = 'activated theme rewind-classic';
}

return $changes;
