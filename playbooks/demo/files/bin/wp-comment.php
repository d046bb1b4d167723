<?php
/**
 * Add a visitor's comment to a published post, through the WordPress API, even while
 * the site answers 500 (run with REWIND_SKIP_PLUGINS=1: a broken plugin is not loaded).
 *
 *   php wp-comment.php --post=welcome-to-rewind-demo --author='Demo visitor' \
 *       --email=visitor@example.com --text='Nice rollback!'
 *
 * Prints {"changed": true, "comment_id": id, "post_id": id, "method": "cli"}.
 */

require __DIR__ . '/boot.php';

$rewind_demo_args = getopt( '', array( 'post:', 'author:', 'email:', 'text:' ) );
foreach ( array( 'post', 'author', 'email', 'text' ) as $rewind_demo_name ) {
	if ( ! isset( $rewind_demo_args[ $rewind_demo_name ] ) || '' === trim( (string) $rewind_demo_args[ $rewind_demo_name ] ) ) {
		rewind_demo_fail( '--' . $rewind_demo_name . ' is required' );
	}
}

$rewind_demo_posts = get_posts(
	array(
		'name'        => $rewind_demo_args['post'],
		'post_type'   => array( 'post', 'page' ),
		'post_status' => 'publish',
		'numberposts' => 1,
	)
);
if ( ! $rewind_demo_posts ) {
	rewind_demo_fail( 'no published post with the slug "' . $rewind_demo_args['post'] . '"' );
}
$rewind_demo_post = $rewind_demo_posts[0];

$rewind_demo_now = current_time( 'mysql' );
$rewind_demo_id  = wp_insert_comment(
	wp_slash(
		array(
			'comment_post_ID'      => $rewind_demo_post->ID,
			'comment_author'       => $rewind_demo_args['author'],
			'comment_author_email' => $rewind_demo_args['email'],
			'comment_author_IP'    => '127.0.0.1',
			'comment_agent'        => 'rewind-demo (php-cli)',
			'comment_content'      => $rewind_demo_args['text'],
			'comment_date'         => $rewind_demo_now,
			'comment_date_gmt'     => get_gmt_from_date( $rewind_demo_now ),
			'comment_approved'     => 1,
			'comment_type'         => 'comment',
		)
	)
);
if ( ! $rewind_demo_id ) {
	global $wpdb;
	rewind_demo_fail( 'the comment was not stored: ' . $wpdb->last_error );
}

rewind_demo_result(
	array(
		'changed'    => true,
		'comment_id' => (int) $rewind_demo_id,
		'post_id'    => (int) $rewind_demo_post->ID,
		'method'     => 'cli',
	)
);
