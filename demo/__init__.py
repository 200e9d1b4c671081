"""Demo and seed data: the demo clinic that `make run` loads and the large data set the
benchmarks need (`manage.py seed_demo`). The highest domain layer: it may use every app
below it, and nothing but the composition root may import it."""
