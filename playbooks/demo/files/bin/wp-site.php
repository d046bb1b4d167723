<?php
/**
 * The demo site's settings and content (release r1): five posts, a page with the
 * contact form, three comments, an image in the media library, two contact messages.
 * Whatever is missing is created and whatever differs is put back, so a second run
 * changes nothing. Needs rewind-contact active (release r1's migration activates it).
 *
 * Environment (besides boot.php's): REWIND_SITE_TITLE, REWIND_SITE_TAGLINE.
 * Prints {"changed": bool, "changes": [...], "posts": {slug: id}, "page": id,
 *         "media": {"id": id, "file": path, "url": url}}.
 */

require __DIR__ . '/boot.php';
require_once ABSPATH . 'wp-admin/includes/image.php';

$changes = array();

// Write as the first administrator: no kses filtering, so what is stored is what is
// written here, and the comparisons below hold on the next run.
$rewind_demo_admins = get_users(
	array(
		'role'    => 'administrator',
		'orderby' => 'ID',
		'number'  => 1,
	)
);
if ( ! $rewind_demo_admins ) {
	rewind_demo_fail( 'no administrator: is WordPress installed (wp-install.php)?' );
}
wp_set_current_user( $rewind_demo_admins[0]->ID );
$author_id = $rewind_demo_admins[0]->ID;

// ---------------------------------------------------------------- settings
$options = array(
	'siteurl'                       => untrailingslashit( getenv( 'REWIND_SITE_URL' ) ? getenv( 'REWIND_SITE_URL' ) : 'http://localhost' ),
	'home'                          => untrailingslashit( getenv( 'REWIND_SITE_URL' ) ? getenv( 'REWIND_SITE_URL' ) : 'http://localhost' ),
	'blogname'                      => (string) getenv( 'REWIND_SITE_TITLE' ),
	'blogdescription'               => (string) getenv( 'REWIND_SITE_TAGLINE' ),
	'permalink_structure'           => '/%postname%/',
	'default_comment_status'        => 'open',
	// Visitors' comments appear at once (wordpress_comment.yml posts one and reads it back).
	'comment_moderation'            => '0',
	'comment_previously_approved'   => '0',
	'posts_per_page'                => '10',
	'uploads_use_yearmonth_folders' => '1',
	'blog_public'                   => '1',
);
foreach ( $options as $name => $value ) {
	if ( (string) get_option( $name ) !== $value ) {
		update_option( $name, $value );
		$changes[] = 'option ' . $name;
	}
}
if ( in_array( 'option permalink_structure', $changes, true ) || ! get_option( 'rewrite_rules' ) ) {
	global $wp_rewrite;
	$wp_rewrite->set_permalink_structure( $options['permalink_structure'] );
	flush_rewrite_rules( false ); // .htaccess is Ansible's (templates/htaccess.j2)
	$changes[] = 'rewrite rules';
}

// ---------------------------------------------------------------- categories
$categories = array(
	'news'       => 'News',
	'operations' => 'Operations',
);
$category_ids = array();
foreach ( $categories as $slug => $name ) {
	$term = get_term_by( 'slug', $slug, 'category' );
	if ( ! $term ) {
		$term = wp_insert_term( $name, 'category', array( 'slug' => $slug ) );
		if ( is_wp_error( $term ) ) {
			rewind_demo_fail( 'category ' . $slug . ': ' . $term->get_error_message() );
		}
		$changes[]              = 'category ' . $slug;
		$category_ids[ $slug ] = (int) $term['term_id'];
	} else {
		$category_ids[ $slug ] = (int) $term->term_id;
	}
}

// ---------------------------------------------------------------- posts and the page
$media_file_name = 'rewind-demo-team.png';
$media_subdir    = '2025/01'; // uploads/YYYY/MM of the post it belongs to
$media_upload    = wp_upload_dir( $media_subdir );
$media_url       = $media_upload['url'] . '/' . $media_file_name;

$entries = array(
	'welcome-to-rewind-demo' => array(
		'type'     => 'post',
		'title'    => 'Welcome to the Rewind demo',
		'date'     => '2025-01-06 09:00:00',
		'category' => 'news',
		'content'  => "<p>This site is the demo of rewind, a collection that rolls deployments back safely. It runs WordPress on Apache with mod_php and MariaDB, like the sites it was built for.</p>\n\n<p>Every release of this site is deployed in place, and every deployment is preceded by a backup. When a release goes wrong, rewind puts the previous one back: code, configuration, uploads and database.</p>",
	),
	'how-we-deploy'          => array(
		'type'     => 'post',
		'title'    => 'How we deploy on Fridays',
		'date'     => '2025-01-08 14:30:00',
		'category' => 'operations',
		'content'  => "<p>We deploy on Friday afternoons, which everybody says you should never do. We do it because the rollback is rehearsed: it takes minutes, it is the same playbook every time, and it leaves a report behind.</p>\n\n<p>The deployment copies the plugin and the theme, changes the configuration, runs the plugin's migrations and reloads Apache.</p>",
	),
	'backups-that-restore'   => array(
		'type'     => 'post',
		'title'    => 'Backups that actually restore',
		'date'     => '2025-01-10 11:15:00',
		'category' => 'operations',
		'content'  => "<p>A backup nobody has restored is a hope, not a backup. Before we trust one we verify its checksum against the manifest written next to it, and once a month we restore it on a spare host.</p>\n\n<p>The database dump, the site tarball and the configuration files are kept apart, so that each can be restored alone.</p>",
	),
	'spring-sale-2025'       => array(
		'type'     => 'post',
		'title'    => 'Spring sale: 20% off support plans',
		'date'     => '2025-01-13 08:00:00',
		'category' => 'news',
		'content'  => "<p>Until the end of March, every support plan is twenty percent cheaper. Write to us through the contact page and mention the spring sale.</p>",
	),
	'meet-the-team'          => array(
		'type'     => 'post',
		'title'    => 'Meet the operations team',
		'date'     => '2025-01-15 16:45:00',
		'category' => 'news',
		'content'  => "<p>Four people keep this site running, across three time zones. Here they are at the last offsite, in front of the whiteboard where the rollback runbook was first drawn.</p>\n\n<p><img class=\"size-medium\" src=\"" . esc_url( $media_url ) . "\" alt=\"The operations team at the offsite\" width=\"800\" height=\"450\" /></p>",
	),
	'contact'                => array(
		'type'     => 'page',
		'title'    => 'Contact',
		'date'     => '2025-01-05 10:00:00',
		'category' => null,
		'content'  => "<p>Questions about a deployment, a rollback or the spring sale? Leave us a message.</p>\n\n[rewind_contact]",
	),
);

$post_ids = array();
foreach ( $entries as $slug => $entry ) {
	$found = get_posts(
		array(
			'name'        => $slug,
			'post_type'   => $entry['type'],
			'post_status' => 'any',
			'numberposts' => 1,
		)
	);
	$data  = array(
		'post_type'      => $entry['type'],
		'post_name'      => $slug,
		'post_title'     => $entry['title'],
		'post_content'   => $entry['content'],
		'post_status'    => 'publish',
		'post_author'    => $author_id,
		'comment_status' => 'post' === $entry['type'] ? 'open' : 'closed',
		'ping_status'    => 'closed',
	);
	if ( ! $found ) {
		$data['post_date']     = $entry['date'];
		$data['post_date_gmt'] = $entry['date'];
		$id                    = wp_insert_post( wp_slash( $data ), true );
		if ( is_wp_error( $id ) ) {
			rewind_demo_fail( $entry['type'] . ' ' . $slug . ': ' . $id->get_error_message() );
		}
		$changes[] = $entry['type'] . ' ' . $slug . ' created';
	} else {
		$post = $found[0];
		$id   = $post->ID;
		if ( $post->post_title !== $entry['title'] || $post->post_content !== $entry['content'] || 'publish' !== $post->post_status ) {
			$data['ID'] = $id;
			$updated    = wp_update_post( wp_slash( $data ), true );
			if ( is_wp_error( $updated ) ) {
				rewind_demo_fail( $entry['type'] . ' ' . $slug . ': ' . $updated->get_error_message() );
			}
			$changes[] = $entry['type'] . ' ' . $slug . ' put back';
		}
	}
	if ( $entry['category'] ) {
		$want = array( $category_ids[ $entry['category'] ] );
		if ( array_map( 'intval', wp_get_post_categories( $id ) ) !== $want ) {
			wp_set_post_categories( $id, $want );
			$changes[] = 'category of ' . $slug;
		}
	}
	$post_ids[ $slug ] = (int) $id;
}

// ---------------------------------------------------------------- the image
/**
 * Draw the team photo (a deterministic PNG) with GD.
 */
function rewind_demo_draw_team_photo( string $path ): void {
	$width  = 800;
	$height = 450;
	$image  = imagecreatetruecolor( $width, $height );
	for ( $y = 0; $y < $height; $y++ ) {
		$shade = imagecolorallocate( $image, 42 + intdiv( $y, 6 ), 111 + intdiv( $y, 10 ), 151 + intdiv( $y, 8 ) );
		imageline( $image, 0, $y, $width, $y, $shade );
	}
	$board = imagecolorallocate( $image, 245, 245, 240 );
	$ink   = imagecolorallocate( $image, 40, 40, 40 );
	imagefilledrectangle( $image, 120, 40, 680, 200, $board );
	imagestring( $image, 5, 150, 60, 'ROLLBACK RUNBOOK', $ink );
	imagestring( $image, 4, 150, 95, 'validate > decide > snapshot > restore > verify', $ink );
	$faces = array( array( 220, 92, 56 ), array( 250, 200, 60 ), array( 120, 180, 90 ), array( 200, 120, 200 ) );
	foreach ( $faces as $i => $rgb ) {
		$colour = imagecolorallocate( $image, $rgb[0], $rgb[1], $rgb[2] );
		$x      = 160 + $i * 160;
		imagefilledellipse( $image, $x, 290, 90, 90, $colour );
		imagefilledrectangle( $image, $x - 60, 340, $x + 60, 450, $colour );
	}
	imagestring( $image, 3, 10, 430, 'Rewind Demo - the operations team', $board );
	if ( ! imagepng( $image, $path, 9 ) ) {
		rewind_demo_fail( 'cannot write ' . $path );
	}
	imagedestroy( $image );
}

$media_path  = $media_upload['path'] . '/' . $media_file_name;
$attachments = get_posts(
	array(
		'post_type'   => 'attachment',
		'post_status' => 'any',
		'meta_key'    => '_rewind_fixture',
		'meta_value'  => 'team-photo',
		'numberposts' => 1,
	)
);
if ( ! empty( $media_upload['error'] ) ) {
	rewind_demo_fail( 'uploads: ' . $media_upload['error'] );
}
if ( ! $attachments ) {
	rewind_demo_draw_team_photo( $media_path );
	$media_id = wp_insert_attachment(
		wp_slash(
			array(
				'guid'           => $media_url,
				'post_mime_type' => 'image/png',
				'post_title'     => 'The operations team',
				'post_excerpt'   => 'The operations team at the offsite.',
				'post_content'   => '',
				'post_status'    => 'inherit',
				'post_author'    => $author_id,
				'post_date'      => $entries['meet-the-team']['date'],
				'post_date_gmt'  => $entries['meet-the-team']['date'],
			)
		),
		$media_path,
		$post_ids['meet-the-team'],
		true
	);
	if ( is_wp_error( $media_id ) ) {
		rewind_demo_fail( 'attachment: ' . $media_id->get_error_message() );
	}
	wp_update_attachment_metadata( $media_id, wp_generate_attachment_metadata( $media_id, $media_path ) );
	update_post_meta( $media_id, '_wp_attachment_image_alt', 'The operations team at the offsite' );
	update_post_meta( $media_id, '_rewind_fixture', 'team-photo' );
	$changes[] = 'media ' . $media_file_name . ' created';
} else {
	$media_id = $attachments[0]->ID;
	if ( ! is_file( $media_path ) ) {
		rewind_demo_draw_team_photo( $media_path );
		wp_update_attachment_metadata( $media_id, wp_generate_attachment_metadata( $media_id, $media_path ) );
		$changes[] = 'media ' . $media_file_name . ' redrawn';
	}
}
if ( (int) get_post_thumbnail_id( $post_ids['meet-the-team'] ) !== (int) $media_id ) {
	set_post_thumbnail( $post_ids['meet-the-team'], $media_id );
	$changes[] = 'featured image of meet-the-team';
}

// ---------------------------------------------------------------- comments
$comments = array(
	'ada'   => array( 'welcome-to-rewind-demo', 'Ada Lovelace', 'ada@example.com', 'A rollback that leaves a report behind: finally something I can show the auditors.', '2025-01-06 12:10:00' ),
	'grace' => array( 'welcome-to-rewind-demo', 'Grace Hopper', 'grace@example.com', 'It is easier to ask forgiveness than permission, and easier still with a tested restore.', '2025-01-07 08:42:00' ),
	'linus' => array( 'spring-sale-2025', 'Linus Torvalds', 'linus@example.com', 'Does the spring sale include the weekend on-call plan?', '2025-01-13 19:05:00' ),
);
foreach ( $comments as $key => $comment ) {
	list( $slug, $author, $email, $text, $date ) = $comment;
	$existing = get_comments(
		array(
			'post_id'    => $post_ids[ $slug ],
			'meta_key'   => '_rewind_fixture',
			'meta_value' => 'comment-' . $key,
			'status'     => 'all',
			'count'      => true,
		)
	);
	if ( $existing ) {
		continue;
	}
	$comment_id = wp_insert_comment(
		wp_slash(
			array(
				'comment_post_ID'      => $post_ids[ $slug ],
				'comment_author'       => $author,
				'comment_author_email' => $email,
				'comment_author_IP'    => '127.0.0.1',
				'comment_agent'        => 'rewind-demo fixture',
				'comment_content'      => $text,
				'comment_date'         => $date,
				'comment_date_gmt'     => $date,
				'comment_approved'     => 1,
				'comment_meta'         => array( '_rewind_fixture' => 'comment-' . $key ),
			)
		)
	);
	if ( ! $comment_id ) {
		rewind_demo_fail( 'comment ' . $key . ' was not stored' );
	}
	$changes[] = 'comment ' . $key;
}

// ---------------------------------------------------------------- contact messages
if ( ! function_exists( 'rewind_contact_store' ) ) {
	rewind_demo_fail( 'the plugin rewind-contact is not active (run release r1 first)' );
}
$messages = array(
	array( 'Margaret Hamilton', 'margaret@example.com', 'Can the rollback run from our job templates in AWX?', '2025-01-09 10:00:00' ),
	array( 'Barbara Liskov', 'barbara@example.com', 'Please send me the incident report of last Friday.', '2025-01-14 15:20:00' ),
);
global $wpdb;
$table = rewind_contact_table();
foreach ( $messages as $message ) {
	list( $name, $email, $text, $date ) = $message;
	$count = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE email = %s AND message = %s", $email, $text ) ); // phpcs:ignore WordPress.DB.PreparedSQL
	rewind_demo_check_db( 'reading ' . $table );
	if ( 0 === $count ) {
		if ( ! rewind_contact_store( $name, $email, $text, $date ) ) {
			rewind_demo_fail( 'contact message from ' . $email . ': ' . $wpdb->last_error );
		}
		$changes[] = 'contact message from ' . $email;
	}
}

rewind_demo_result(
	array(
		'changed' => (bool) $changes,
		'changes' => $changes,
		'posts'   => array_diff_key( $post_ids, array( 'contact' => 0 ) ),
		'page'    => $post_ids['contact'],
		'media'   => array(
			'id'   => (int) $media_id,
			'file' => $media_path,
			'url'  => $media_url,
		),
	)
);
