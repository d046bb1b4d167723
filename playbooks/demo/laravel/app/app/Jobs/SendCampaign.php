<?php

namespace App\Jobs;

use App\Models\Campaign;
use App\Models\CampaignLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;

/** Sends a campaign (here: records that it was sent, by which release's worker). */
class SendCampaign implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public function __construct(public int $campaignId, public string $queuedBy)
    {
    }

    public function handle()
    {
        $campaign = Campaign::findOrFail($this->campaignId);
        $campaign->update(['status' => 'sent']);
        CampaignLog::create([
            'campaign_id' => $campaign->id,
            'event' => 'sent',
            'detail' => 'queued by '.$this->queuedBy.', sent by '.(trim((string) @file_get_contents(base_path('REVISION'))) ?: 'unknown'),
        ]);
    }
}
