<?php

// Debian's php-laravel-framework (Laravel 8.83) stands in for composer's vendor/: its
// autoloader loads the framework, its dependencies and its helpers from /usr/share/php.
// The application's own classes load from app/ (PSR-4, as composer.json declares).

require_once 'Illuminate/autoload.php';

spl_autoload_register(function ($class) {
    if (strncmp($class, 'App\\', 4) !== 0) {
        return;
    }
    $file = __DIR__.'/../app/'.str_replace('\\', '/', substr($class, 4)).'.php';
    if (is_file($file)) {
        require $file;
    }
});
