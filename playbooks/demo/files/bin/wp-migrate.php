<?php
/**
 * Run the database part of a release: <release dir>/deploy/migrate.php, which returns
 * the list of what it changed (empty: nothing to do).
 *
 *   php wp-migrate.php /opt/rewind-demo/releases/r2
 *
 * Prints {"changed": bool, "release": id, "changes": [...]}.
 */

require __DIR__ . '/boot.php';

$rewind_demo_release = rtrim( $argv[1] ?? '', '/' );
$rewind_demo_file    = $rewind_demo_release . '/deploy/migrate.php';
if ( '' === $rewind_demo_release || ! is_file( $rewind_demo_file ) ) {
	rewind_demo_fail( 'no migration at "' . $rewind_demo_file . '" (give the staged release directory)' );
}

// The release runs as the first administrator, as the deploy user would in wp-admin.
$rewind_demo_admins = get_users(
	array(
		'role'    => 'administrator',
		'orderby' => 'ID',
		'number'  => 1,
	)
);
if ( $rewind_demo_admins ) {
	wp_set_current_user( $rewind_demo_admins[0]->ID );
}

$rewind_demo_changes = ( static function ( $file ) {
	return require $file;
} )( $rewind_demo_file );
if ( ! is_array( $rewind_demo_changes ) ) {
	rewind_demo_fail( $rewind_demo_file . ' must return the list of its changes' );
}

rewind_demo_result(
	array(
		'changed' => (bool) $rewind_demo_changes,
		'release' => basename( $rewind_demo_release ),
		'changes' => array_values( $rewind_demo_changes ),
	)
);
