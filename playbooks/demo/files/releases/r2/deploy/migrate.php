<?php
/**
 * Release r2 (rewind-contact 2.0, rewind-classic 1.1), database and uploads part.
 * Run by bin/wp-migrate.php without the plugins loaded (as `wp --skip-plugins`),
 * after the release's files are in place; returns the list of what it changed.
 *
 * - rewind-contact 2.0's upgrade: ALTER {prefix}rewind_contact, CREATE and fill
 *   {prefix}rewind_hybrid, settings and db version options;
 * - the content the marketing team shipped with the release: two posts rewritten
 *   (one retitled), the contact page's shortcode changed, the spring sale post (and
 *   its comment) deleted;
 * - new files in uploads: the plugin's banner and its generated stylesheet.
 */

defined( 'ABSPATH' ) || exit;

$changes = array();

// ------------------------------------------------------------ plugin upgrade
$upgrade = WP_PLUGIN_DIR . '/rewind-contact/includes/install.php';
if ( ! is_file( $upgrade ) ) {
	rewind_demo_fail( $upgrade . ' is missing: are the release files in place?' );
}
require_once $upgrade;
$upgraded = rewind_contact_upgrade_2_0();
if ( is_wp_error( $upgraded ) ) {
	rewind_demo_fail( $upgraded->get_error_message() );
}
foreach ( $upgraded as $change ) {
	$changes[] = 'rewind-contact 2.0: ' . $change;
}

// ------------------------------------------------------------ content
$rewrites = array(
	'welcome-to-rewind-demo' => array(
		'Welcome to Rewind Demo 2.0',
		"<p>This site is the demo of rewind, now with a brand-new contact experience: talk to us from any page, and every message reaches our CRM within the hour.</p>\n\n<p>Every release of this site is deployed in place, and every deployment is preceded by a backup.</p>",
	),
	'how-we-deploy'          => array(
		null,
		"<p>We deploy continuously now: every merge goes straight to production, and the CRM sync runs from the crontab.</p>\n\n<p>Rollbacks? We have not needed one in weeks.</p>",
	),
	'contact'                => array(
		'Talk to us',
		"<p>Questions? Our team answers within one business day.</p>\n\n[rewind_contact layout=\"hybrid\" phone=\"yes\"]",
	),
);
foreach ( $rewrites as $slug => $rewrite ) {
	$found = get_posts(
		array(
			'name'        => $slug,
			'post_type'   => array( 'post', 'page' ),
			'post_status' => 'any',
			'numberposts' => 1,
		)
	);
	if ( ! $found ) {
		continue;
	}
	$post = $found[0];
	$data = array( 'ID' => $post->ID );
	if ( null !== $rewrite[0] && $post->post_title !== $rewrite[0] ) {
		$data['post_title'] = $rewrite[0];
	}
	if ( $post->post_content !== $rewrite[1] ) {
		$data['post_content'] = $rewrite[1];
	}
	if ( count( $data ) > 1 ) {
		$updated = wp_update_post( wp_slash( $data ), true );
		if ( is_wp_error( $updated ) ) {
			rewind_demo_fail( 'updating ' . $slug . ': ' . $updated->get_error_message() );
		}
		$changes[] = 'rewrote ' . $post->post_type . ' ' . $slug;
	}
}
foreach ( array( 'spring-sale-2025' ) as $slug ) {
	foreach ( get_posts(
		array(
			'name'        => $slug,
			'post_type'   => 'post',
			'post_status' => 'any',
			'numberposts' => 1,
		)
	) as $post ) {
		wp_delete_post( $post->ID, true );
		$changes[] = 'deleted post ' . $slug . ' (and its comments)';
	}
}

// ------------------------------------------------------------ uploads
$uploads = wp_upload_dir( null, true );
if ( ! empty( $uploads['error'] ) ) {
	rewind_demo_fail( 'uploads: ' . $uploads['error'] );
}
$dir = $uploads['basedir'] . '/rewind-contact';
if ( ! is_dir( $dir ) && ! wp_mkdir_p( $dir ) ) {
	rewind_demo_fail( 'cannot create ' . $dir );
}
$css = $dir . '/form.css';
if ( ! is_file( $css ) ) {
	file_put_contents( $css, ".rewind-contact--hybrid { display: grid; gap: 0.75rem; }\n.rewind-contact--hybrid .phone { display: block; }\n" );
	$changes[] = 'wrote ' . $css;
}
$banner = $dir . '/banner.png';
if ( ! is_file( $banner ) ) {
	$image = imagecreatetruecolor( 1200, 300 );
	imagefill( $image, 0, 0, imagecolorallocate( $image, 242, 165, 65 ) );
	imagestring( $image, 5, 40, 140, 'Talk to us - the new contact experience', imagecolorallocate( $image, 27, 58, 75 ) );
	imagepng( $image, $banner, 9 );
	imagedestroy( $image );
	$changes[] = 'wrote ' . $banner;
}

return $changes;
