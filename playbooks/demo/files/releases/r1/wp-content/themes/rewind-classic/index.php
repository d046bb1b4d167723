<?php
/**
 * Rewind Classic: the one template (home, single, page, search, archives).
 */

defined( 'ABSPATH' ) || exit;
?><!DOCTYPE html>
<html <?php language_attributes(); ?>>
<head>
<meta charset="<?php bloginfo( 'charset' ); ?>">
<meta name="viewport" content="width=device-width, initial-scale=1">
<?php wp_head(); ?>
</head>
<body <?php body_class(); ?>>
<?php wp_body_open(); ?>
<header class="site-header">
	<p class="site-title"><a href="<?php echo esc_url( home_url( '/' ) ); ?>"><?php bloginfo( 'name' ); ?></a></p>
	<p class="site-description"><?php bloginfo( 'description' ); ?></p>
	<?php get_search_form(); ?>
</header>
<main id="content" class="site-main">
	<?php if ( is_search() ) : ?>
		<h1 class="page-title">Search results for &ldquo;<?php echo esc_html( get_search_query() ); ?>&rdquo;</h1>
	<?php endif; ?>
	<?php if ( have_posts() ) : ?>
		<?php
		while ( have_posts() ) :
			the_post();
			?>
			<article id="post-<?php the_ID(); ?>" <?php post_class(); ?>>
				<h2 class="entry-title"><a href="<?php the_permalink(); ?>"><?php the_title(); ?></a></h2>
				<?php if ( has_post_thumbnail() ) : ?>
					<?php the_post_thumbnail( 'medium' ); ?>
				<?php endif; ?>
				<div class="entry-content">
					<?php
					if ( is_singular() ) {
						the_content();
					} else {
						the_excerpt();
					}
					?>
				</div>
			</article>
			<?php
			if ( is_singular() && ( comments_open() || get_comments_number() ) ) {
				comments_template();
			}
		endwhile;
		the_posts_pagination();
		?>
	<?php else : ?>
		<p class="no-results">Nothing found.</p>
	<?php endif; ?>
</main>
<footer class="site-footer">
	<p><?php bloginfo( 'name' ); ?> &middot; rewind-classic <?php echo esc_html( wp_get_theme()->get( 'Version' ) ); ?></p>
</footer>
<?php wp_footer(); ?>
</body>
</html>
