<?php
/**
 * Rewind Classic: comments and the comment form.
 */

defined( 'ABSPATH' ) || exit;

if ( post_password_required() ) {
	return;
}
?>
<section id="comments" class="comments-area">
	<?php if ( have_comments() ) : ?>
		<h2 class="comments-title"><?php echo esc_html( sprintf( _n( '%s comment', '%s comments', get_comments_number(), 'rewind-classic' ), number_format_i18n( get_comments_number() ) ) ); ?></h2>
		<ol class="comment-list">
			<?php
			wp_list_comments(
				array(
					'style'      => 'ol',
					'short_ping' => true,
				)
			);
			?>
		</ol>
	<?php endif; ?>
	<?php comment_form(); ?>
</section>
