from django.apps import AppConfig


class DemoConfig(AppConfig):
    # No models: installed for its management command (seed_demo) only, so it has no
    # admin section and needs no verbose name.
    name = "demo"
