<?php
/**
 * Rewind Classic 1.1: the promotion banner above the content.
 */

defined( 'ABSPATH' ) || exit;
?>
<aside class="promo">
	New: talk to us from any page with the contact block. <a href="<?php echo esc_url( home_url( '/contact/' ) ); ?>">Contact us</a>
</aside>
