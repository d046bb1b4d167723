<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>Log in - Campaigns</title>
    <link rel="stylesheet" href="{{ $assets['css'] }}">
</head>
<body>
    <h1>Log in</h1>
    <form method="post" action="/login" id="login">
        <input type="hidden" name="_token" value="{{ csrf_token() }}">
        <label>E-mail <input type="email" name="email"></label>
        <label>Password <input type="password" name="password"></label>
        <button type="submit">Log in</button>
    </form>
</body>
</html>
