# Consortio: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres lint format bench install install-dev clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	if $(FLASK) is-empty; then $(FLASK) seed-demo; fi
	@echo
	@echo "Consortio : http://$(HOST):$(PORT)/"
	@echo "Comptes de démonstration (mot de passe : consortio-demo) :"
	@echo "  coordination@urtie.example      coordination (URTIE Île-de-France)"
	@echo "  direction@plie-sevran.example   direction du PLIE de Sevran"
	@echo "  equipe@plie-sevran.example      contribution au PLIE de Sevran"
	@echo "  lecture@financeur.example       lecture"
	@echo "  admin@consortio.example         administration de la plateforme"
	@echo
	$(FLASK) run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL when a server answers (or TEST_DATABASE_URL is set).
test: install-dev
	$(BIN)/python -m tests.run_suite

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python -m tests.benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
