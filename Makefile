# The quick start is two commands: `make run` and `make test`. Both install when needed.
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help run test bench lint typecheck install

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci
	@touch $@

install: node_modules/.package-lock.json ## install dependencies (npm ci), including the pinned Node.js 24

run: install ## start the service on the embedded queue (HTTP_PORT, default 8080)
	$(NPM) start

test: install ## typecheck, lint and run the whole test suite
	$(NPM) test

bench: install ## run the benchmarks (see BENCHMARKS.md)
	$(NPM) run bench

lint: install ## lint and format check
	$(NPM) run lint

typecheck: install ## typecheck
	$(NPM) run typecheck
