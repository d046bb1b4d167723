<?php

namespace App\Http\Controllers;

use App\Jobs\SendCampaign;
use App\Models\Campaign;
use App\Models\HybridCampaignStep;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\DB;

class CampaignController extends Controller
{
    public function index()
    {
        // The regression: campaigns created before hybrid campaigns have no type, and
        // typeLabel() takes a string, so the listing answers 500 as soon as one exists.
        return Campaign::orderBy('id')->get()->map(fn (Campaign $c) => [
            'id' => $c->id,
            'name' => $c->name,
            'status' => $c->status,
            'type' => $this->typeLabel($c->campaign_type),
        ]);
    }

    public function store(Request $request)
    {
        $data = $request->validate(['name' => 'required|string|max:120']);
        $campaign = Campaign::create($data + ['status' => 'queued', 'campaign_type' => 'standard']);
        SendCampaign::dispatch($campaign->id, $this->release());

        return response()->json(['id' => $campaign->id, 'status' => $campaign->status], 201);
    }

    public function storeHybrid(Request $request)
    {
        $data = $request->validate([
            'name' => 'required|string|max:120',
            'channels' => 'array',
            'channels.*' => 'in:whatsapp,sms,email',
        ]);
        $campaign = DB::transaction(function () use ($data) {
            $campaign = Campaign::create([
                'name' => $data['name'], 'status' => 'queued', 'campaign_type' => 'hybrid',
            ]);
            foreach (array_values($data['channels'] ?? ['whatsapp', 'sms']) as $position => $channel) {
                HybridCampaignStep::create([
                    'campaign_id' => $campaign->id, 'channel' => $channel, 'position' => $position,
                ]);
            }

            return $campaign;
        });
        SendCampaign::dispatch($campaign->id, $this->release());

        return response()->json(['id' => $campaign->id, 'type' => 'hybrid'], 201);
    }

    public function health()
    {
        return ['status' => 'ok', 'release' => $this->release(), 'campaigns' => Campaign::count()];
    }

    private function typeLabel(string $type): string
    {
        return ucfirst($type);
    }
}
