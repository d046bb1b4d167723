<?php
/**
 * Plugin Name:       Rewind Contact
 * Plugin URI:        https://example.com/rewind-contact
 * Description:       A small contact form for the rewind demo site: the [rewind_contact] shortcode renders it, messages are stored in the {prefix}rewind_contact table and queued for the CRM in {prefix}rewind_hybrid.
 * Version:           2.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * Author:            rewind developers
 * License:           GPL-2.0-or-later
 * Text Domain:       rewind-contact
 */

defined( 'ABSPATH' ) || exit;

const REWIND_CONTACT_VERSION = '2.0';

require_once __DIR__ . '/includes/install.php';

/*
 * 2.0 moved the form into a block and the CRM queue into includes/blocks.php and
 * includes/crm.php. Neither file made it into the release, so the next line is a
 * PHP fatal error ("Call to undefined function") on every request: the broken
 * release of the rewind demo.
 */
rewind_contact_register_blocks();

function rewind_contact_table() {
	global $wpdb;
	return $wpdb->prefix . 'rewind_contact';
}

add_action( 'init', 'rewind_contact_handle_post' );
add_shortcode( 'rewind_contact', 'rewind_contact_render_block' );
