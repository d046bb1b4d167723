<?php

namespace App\Models;

use Illuminate\Database\Eloquent\Model;

class HybridCampaignStep extends Model
{
    protected $fillable = ['campaign_id', 'channel', 'position'];
}
