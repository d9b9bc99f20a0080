# The quick start is two commands: `make run` and `make test`. Both install when needed.
.DEFAULT_GOAL := help
NPM ?= npm

.PHONY: help run test test-deps bench lint typecheck install load spike stress chaos \
	up down logs logs-system logs-nats logs-rabbitmq build clean \
	health metrics info status dashboard traces profile

# Extra flags for the load and profile targets, e.g. make load ARGS="--rate 200 --report load.html"
ARGS ?=
# Where health/metrics/info/status look for a running service.
TPS_URL ?= http://127.0.0.1:8080
NODE := ./node_modules/.bin/node
# Docker Compose v2 (docker compose) or v1 (docker-compose), whichever this machine has.
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo docker compose || \
	(command -v docker-compose >/dev/null 2>&1 && echo docker-compose))
NO_DOCKER = echo "make $@: Docker Compose is not available on this machine; run the service natively with 'make run'." >&2; exit 1

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci
	@touch $@

install: node_modules/.package-lock.json ## install dependencies (npm ci), including the pinned Node.js 24

run: install ## start the service on the embedded queue (HTTP_PORT, default 8080); reads .env when there is one
	$(NPM) start

test-deps: ## install (as root, with apt-get) or name the Debian packages the tests need
	@scripts/test-deps.sh

# test-deps first: npm ci builds the native addon with the compiler it installs.
test: test-deps install ## typecheck, lint and run the whole test suite
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

# ---- the Docker stack (docker-compose.yml): the service, NATS, RabbitMQ, Prometheus, Alertmanager,
# Grafana, Jaeger, Loki and Promtail

up: ## start the whole stack in Docker (make run starts the service alone, natively)
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) up -d --build --wait

down: ## stop the stack (its volumes are kept)
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) down

logs: ## follow the logs of the whole stack
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) logs -f

logs-system: ## follow the service's logs
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) logs -f tps

logs-nats: ## follow NATS' logs
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) logs -f nats

logs-rabbitmq: ## follow RabbitMQ's logs
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) logs -f rabbitmq

build: ## build the service's Docker image
	@if [ -z "$(COMPOSE)" ]; then $(NO_DOCKER); fi
	$(COMPOSE) build tps

clean: ## remove build output and profiles; with Docker, also the stack's containers and volumes
	rm -rf dist coverage profiles test-artifacts
	@if [ -n "$(COMPOSE)" ]; then $(COMPOSE) down -v --remove-orphans; fi

# ---- a running service (make run, or make up): TPS_URL, default http://127.0.0.1:8080

health: install ## the service's /health (exit 1 when unhealthy)
	@$(NODE) scripts/get.ts /health --url $(TPS_URL)

metrics: install ## Kaizen's figures (/metrics as JSON; Prometheus scrapes METRICS_PORT)
	@$(NODE) scripts/get.ts /metrics --url $(TPS_URL)

info: install ## name, version, uptime and the effective configuration (/info)
	@$(NODE) scripts/get.ts /info --url $(TPS_URL)

status: install ## health, metrics, the Andon board and Heijunka together (/status)
	@$(NODE) scripts/get.ts /status --url $(TPS_URL)

dashboard: ## where the dashboards are
	@echo "Andon board (live):  $(TPS_URL)/"
	@echo "Grafana (make up):   http://localhost:3000  (dashboards: TPS overview and one per principle)"
	@echo "Prometheus (make up): http://localhost:9091  (alerts: http://localhost:9093)"

traces: ## where the traces are
	@echo "Jaeger (make up):    http://localhost:16686  (service: tps-reference-system)"
	@echo "Without the stack, set OTEL_EXPORTER_OTLP_ENDPOINT to any OTLP/HTTP collector; every response carries its trace_id."

profile: install ## run the service under V8's CPU profiler with load (ARGS="--rate 2000 --duration 15"); writes profiles/*.cpuprofile
	$(NPM) run -s build
	$(NODE) scripts/profile.ts $(ARGS)
