# The two commands of the README are `make demo` and `make test`; the rest are habits.
.PHONY: demo test lint fix bench clean

demo:
	scripts/demo.sh $(ARGS)

test:
	scripts/test.sh $(ARGS)

lint:
	.venv/bin/ruff check src tests bench && .venv/bin/ruff format --check src tests bench && .venv/bin/mypy

fix:
	.venv/bin/ruff check --fix src tests bench && .venv/bin/ruff format src tests bench

bench:
	.venv/bin/python bench/lifecycle.py && .venv/bin/python bench/scale.py && .venv/bin/python bench/classify.py && .venv/bin/python bench/dispatch.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
