<?php
/**
 * Rewind Classic: theme set-up.
 */

defined( 'ABSPATH' ) || exit;

function rewind_classic_setup() {
	add_theme_support( 'title-tag' );
	add_theme_support( 'post-thumbnails' );
	add_theme_support( 'html5', array( 'search-form', 'comment-form', 'comment-list', 'gallery', 'caption', 'style', 'script' ) );
}
add_action( 'after_setup_theme', 'rewind_classic_setup' );

function rewind_classic_assets() {
	wp_enqueue_style( 'rewind-classic', get_stylesheet_uri(), array(), wp_get_theme()->get( 'Version' ) );
}
add_action( 'wp_enqueue_scripts', 'rewind_classic_assets' );

/*
 * No block editor styles on the front end: this classic theme does not use them, and
 * WordPress 6.1 caches them in a one-minute transient, so every page view would write
 * to wp_options.
 */
function rewind_classic_no_global_styles() {
	remove_action( 'wp_enqueue_scripts', 'wp_enqueue_global_styles' );
	remove_action( 'wp_footer', 'wp_enqueue_global_styles', 1 );
	remove_action( 'wp_body_open', 'wp_global_styles_render_svg_filters' );
}
add_action( 'after_setup_theme', 'rewind_classic_no_global_styles' );
