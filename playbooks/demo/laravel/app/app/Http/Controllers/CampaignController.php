<?php

namespace App\Http\Controllers;

use App\Jobs\SendCampaign;
use App\Models\Campaign;
use Illuminate\Http\Request;

class CampaignController extends Controller
{
    public function index()
    {
        return Campaign::orderBy('id')->get(['id', 'name', 'status', 'created_at']);
    }

    public function store(Request $request)
    {
        $data = $request->validate(['name' => 'required|string|max:120']);
        $campaign = Campaign::create($data + ['status' => 'queued']);
        SendCampaign::dispatch($campaign->id, $this->release());

        return response()->json(['id' => $campaign->id, 'status' => $campaign->status], 201);
    }

    public function health()
    {
        return ['status' => 'ok', 'release' => $this->release(), 'campaigns' => Campaign::count()];
    }
}
