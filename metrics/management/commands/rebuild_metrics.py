from django.core.management.base import BaseCommand

from metrics.rollups import rollups_rebuild, rollups_refresh

BAR = 30


class Command(BaseCommand):
    help = (
        "Recomputes every rollup from the raw visits and responses, a month at a time, "
        "then refreshes what changed meanwhile. Dashboards stay readable while it runs."
    )

    def handle(self, *args, **options) -> None:
        interactive = self.stdout.isatty()

        def progress(done: int, total: int) -> None:
            filled = BAR * done // total
            line = f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} months"
            if interactive:
                self.stdout.write("\r" + line, ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)

        result = rollups_rebuild(progress=progress)
        if interactive:
            self.stdout.write("")
        rollups_refresh()
        rate = result.rows / result.seconds if result.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {result.rows:,} rollup rows over {result.days:,} days "
                f"in {result.seconds:.1f} s ({rate:,.0f} rows/s)."
            )
        )
