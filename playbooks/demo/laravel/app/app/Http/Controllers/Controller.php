<?php

namespace App\Http\Controllers;

use Illuminate\Routing\Controller as BaseController;

class Controller extends BaseController
{
    /** The hashed file names of the frontend build (Vite's manifest format). */
    protected function assets(): array
    {
        $manifest = json_decode(file_get_contents(public_path('build/manifest.json')), true);

        return [
            'js' => '/build/'.$manifest['resources/js/app.js']['file'],
            'css' => '/build/'.$manifest['resources/css/app.css']['file'],
        ];
    }

    /** The release this code was deployed as (written at deploy time, like capistrano's REVISION). */
    protected function release(): string
    {
        return trim((string) @file_get_contents(base_path('REVISION'))) ?: 'unknown';
    }
}
