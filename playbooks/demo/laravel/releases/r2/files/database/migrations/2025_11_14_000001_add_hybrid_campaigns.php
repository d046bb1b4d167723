<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// Hybrid campaigns: a campaign gets a type, and a hybrid one its channel steps.
return new class extends Migration
{
    public function up(): void
    {
        Schema::table('campaigns', function (Blueprint $table) {
            $table->string('campaign_type', 20)->nullable()->after('status');
            $table->index('campaign_type');
        });

        Schema::create('hybrid_campaign_steps', function (Blueprint $table) {
            $table->id();
            $table->unsignedBigInteger('campaign_id')->index();
            $table->string('channel', 20);
            $table->unsignedSmallInteger('position');
            $table->timestamps();
        });
    }

    public function down(): void
    {
        Schema::dropIfExists('hybrid_campaign_steps');

        Schema::table('campaigns', function (Blueprint $table) {
            $table->dropIndex(['campaign_type']);
            $table->dropColumn('campaign_type');
        });
    }
};
