<?php
/**
 * Rewind Contact 2.0: push the queued rows of {prefix}rewind_hybrid to the CRM.
 * Run hourly from the crontab: php wp-content/plugins/rewind-contact/cron/crm-sync.php
 */

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}
$_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
require dirname( __DIR__, 4 ) . '/wp-load.php';

rewind_contact_crm_sync( defined( 'REWIND_CONTACT_CRM_ENDPOINT' ) ? REWIND_CONTACT_CRM_ENDPOINT : '' );
