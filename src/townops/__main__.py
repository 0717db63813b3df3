from townops.cli.main import app

app()
