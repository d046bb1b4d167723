<?php
/**
 * Common bootstrap of the rewind demo's PHP CLI helpers: loads WordPress from
 * REWIND_SITE_ROOT as if it served REWIND_SITE_URL (the helpers replace wp-cli,
 * which the demo hosts do not have).
 *
 * Environment:
 *   REWIND_SITE_ROOT     the site's document root (holds wp-load.php), required
 *   REWIND_SITE_URL      the site's URL, default http://localhost
 *   REWIND_INSTALLING=1  define WP_INSTALLING (the tables may not exist yet)
 *   REWIND_SKIP_PLUGINS=1  load WordPress without the active plugins, like
 *                        `wp --skip-plugins`: works while a plugin is fatally broken
 *
 * A helper requires this file at file scope (WordPress expects its globals there),
 * prints one JSON object with rewind_demo_result() and exits 0; any other ending
 * (a PHP fatal, wp_die(), exit) exits non-zero.
 *
 * Every helper runs without mail and without outgoing HTTP.
 */

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}

$GLOBALS['rewind_demo_done'] = false;

function rewind_demo_fail( string $message ): void {
	fwrite( STDERR, 'rewind demo helper: ' . $message . PHP_EOL );
	$GLOBALS['rewind_demo_done'] = true;
	exit( 1 );
}

function rewind_demo_result( array $result ): void {
	echo json_encode( $result, JSON_UNESCAPED_SLASHES ), PHP_EOL;
	$GLOBALS['rewind_demo_done'] = true;
	exit( 0 );
}

register_shutdown_function(
	static function () {
		if ( ! $GLOBALS['rewind_demo_done'] ) {
			fwrite( STDERR, 'rewind demo helper: stopped before finishing (see the messages above)' . PHP_EOL );
			exit( 1 );
		}
	}
);

$rewind_demo_root = rtrim( (string) getenv( 'REWIND_SITE_ROOT' ), '/' );
if ( '' === $rewind_demo_root || ! is_file( $rewind_demo_root . '/wp-load.php' ) ) {
	rewind_demo_fail( 'REWIND_SITE_ROOT must name a WordPress document root (no wp-load.php in "' . $rewind_demo_root . '")' );
}
$rewind_demo_url   = getenv( 'REWIND_SITE_URL' ) ? getenv( 'REWIND_SITE_URL' ) : 'http://localhost';
$rewind_demo_parts = parse_url( $rewind_demo_url );
if ( empty( $rewind_demo_parts['host'] ) ) {
	rewind_demo_fail( 'REWIND_SITE_URL "' . $rewind_demo_url . '" is not a URL' );
}
$rewind_demo_https = isset( $rewind_demo_parts['scheme'] ) && 'https' === $rewind_demo_parts['scheme'];

// What a web request would have told WordPress.
$_SERVER['HTTP_HOST']       = $rewind_demo_parts['host'] . ( isset( $rewind_demo_parts['port'] ) ? ':' . $rewind_demo_parts['port'] : '' );
$_SERVER['SERVER_NAME']     = $rewind_demo_parts['host'];
$_SERVER['SERVER_PORT']     = isset( $rewind_demo_parts['port'] ) ? (string) $rewind_demo_parts['port'] : ( $rewind_demo_https ? '443' : '80' );
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_NAME']     = '/index.php';
if ( $rewind_demo_https ) {
	$_SERVER['HTTPS'] = 'on';
}

if ( '1' === getenv( 'REWIND_INSTALLING' ) ) {
	define( 'WP_INSTALLING', true );
}

// Hooks registered before WordPress loads (WP_Hook::build_preinitialized_hooks()).
$GLOBALS['wp_filter'] = array(
	// No mail: the demo hosts have no MTA.
	'pre_wp_mail'      => array(
		10 => array(
			array(
				'function'      => static function () {
					return true;
				},
				'accepted_args' => 1,
			),
		),
	),
	// No HTTP: not even the loopback test wp_install() runs to pick pretty permalinks.
	'pre_http_request' => array(
		10 => array(
			array(
				'function'      => static function () {
					return new WP_Error( 'rewind_demo_offline', 'The rewind demo helpers make no HTTP requests.' );
				},
				'accepted_args' => 1,
			),
		),
	),
);

if ( '1' === getenv( 'REWIND_SKIP_PLUGINS' ) ) {
	// Hide the active plugins while wp-settings.php loads them, then show them again,
	// so that nothing reads (and writes back) an empty list afterwards.
	$rewind_demo_no_plugins = static function () {
		return array();
	};
	$GLOBALS['wp_filter']['option_active_plugins'][10][] = array(
		'function'      => $rewind_demo_no_plugins,
		'accepted_args' => 1,
	);
	$GLOBALS['wp_filter']['plugins_loaded'][ -1000 ][] = array(
		'function'      => static function () use ( $rewind_demo_no_plugins ) {
			remove_filter( 'option_active_plugins', $rewind_demo_no_plugins, 10 );
		},
		'accepted_args' => 0,
	);
}

require $rewind_demo_root . '/wp-load.php';

// Fail loudly on SQL errors instead of carrying on.
function rewind_demo_check_db( string $what ): void {
	global $wpdb;
	if ( '' !== $wpdb->last_error ) {
		rewind_demo_fail( $what . ': ' . $wpdb->last_error );
	}
}
