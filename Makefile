# Shortcuts; each target is one command from the README.
.PHONY: demo test lint bench
demo:
	./scripts/demo.sh
test:
	./scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
bench:
	.venv/bin/fleetboard bench --envs 100
