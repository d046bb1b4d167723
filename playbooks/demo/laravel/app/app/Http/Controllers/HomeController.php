<?php

namespace App\Http\Controllers;

use App\Models\Campaign;

class HomeController extends Controller
{
    public function home()
    {
        return view('home', [
            'assets' => $this->assets(),
            'release' => $this->release(),
            'campaigns' => Campaign::orderBy('id')->get(['id', 'name', 'status']),
        ]);
    }

    public function login()
    {
        return view('login', ['assets' => $this->assets()]);
    }
}
