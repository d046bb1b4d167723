<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>Campaigns</title>
    <link rel="stylesheet" href="{{ $assets['css'] }}">
    <script src="{{ $assets['js'] }}" defer></script>
</head>
<body>
    <h1>Campaigns</h1>
    <p class="release">Release {{ $release }}</p>
    <ul id="campaigns">
        @foreach ($campaigns as $campaign)
            <li data-id="{{ $campaign->id }}">{{ $campaign->name }} <em>{{ $campaign->status }}</em></li>
        @endforeach
    </ul>
    <p><a href="/login">Log in</a></p>
</body>
</html>
