<?php
/**
 * Install WordPress non-interactively (what wp-admin/install.php does), once.
 *
 * Run with REWIND_INSTALLING=1 and REWIND_SITE_TITLE, REWIND_ADMIN_USER,
 * REWIND_ADMIN_EMAIL in the environment; the administrator's password comes on
 * standard input (never on a command line or in the environment).
 * Prints {"changed": bool, "installed": bool}.
 *
 * wp_install() also creates WordPress's sample content ("Hello world!", the sample
 * page, the draft privacy policy page and a comment); the demo removes it so that the
 * site holds exactly the fixture content of wp-site.php.
 */

require __DIR__ . '/boot.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if ( is_blog_installed() ) {
	rewind_demo_result( array( 'changed' => false, 'installed' => true ) );
}

foreach ( array( 'REWIND_SITE_TITLE', 'REWIND_ADMIN_USER', 'REWIND_ADMIN_EMAIL' ) as $rewind_demo_name ) {
	if ( '' === (string) getenv( $rewind_demo_name ) ) {
		rewind_demo_fail( $rewind_demo_name . ' is not set' );
	}
}
$rewind_demo_password = trim( (string) stream_get_contents( STDIN ) );
if ( '' === $rewind_demo_password ) {
	rewind_demo_fail( "the administrator's password is expected on standard input" );
}

$rewind_demo_install = wp_install(
	getenv( 'REWIND_SITE_TITLE' ),
	getenv( 'REWIND_ADMIN_USER' ),
	getenv( 'REWIND_ADMIN_EMAIL' ),
	true,
	'',
	$rewind_demo_password
);
if ( empty( $rewind_demo_install['user_id'] ) || is_wp_error( $rewind_demo_install['user_id'] ) ) {
	rewind_demo_fail( 'wp_install() did not create the administrator' );
}

foreach ( get_posts(
	array(
		'post_type'   => array( 'post', 'page' ),
		'post_status' => 'any',
		'numberposts' => -1,
	)
) as $rewind_demo_post ) {
	wp_delete_post( $rewind_demo_post->ID, true );
}
update_option( 'wp_page_for_privacy_policy', 0 );

rewind_demo_result( array( 'changed' => true, 'installed' => true ) );
