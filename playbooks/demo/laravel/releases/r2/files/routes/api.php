<?php

use App\Http\Controllers\CampaignController;
use Illuminate\Support\Facades\Route;

Route::get('/health', [CampaignController::class, 'health']);
Route::get('/campaigns', [CampaignController::class, 'index']);
Route::post('/campaigns', [CampaignController::class, 'store']);
Route::post('/campaigns/hybrid', [CampaignController::class, 'storeHybrid']);
