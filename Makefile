# The quick start is two commands: `make run` and `make test`. Both install when needed.
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help run test bench lint typecheck install load spike stress chaos

# Extra flags for the load targets, e.g. make load ARGS="--rate 200 --report load.html"
ARGS ?=

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

load: install ## normal load against a running service: 100/s validate for 60 s, with the verdict
	$(NPM) run -s tps -- load $(ARGS)

spike: install ## spike: 1000/s execute for 10 s
	$(NPM) run -s tps -- spike $(ARGS)

stress: install ## stress: 500/s validate for 30 s
	$(NPM) run -s tps -- stress $(ARGS)

chaos: install ## chaos: starts its own service, injects faults under load, reconciles every signal
	$(NPM) run -s tps -- chaos $(ARGS)
