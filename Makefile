# NavTalk Portal. Two commands matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MEDIAPIPE := mediapipe==0.10.21

.PHONY: run test test-fast lint install migrate check-deploy clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is required (see .python-version)"'
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[engine,dev]'
	# 0.10.21 is the last mediapipe wheel that ships the face-mesh models; --no-deps
	# keeps it from pulling jax (its real deps are in the [engine] extra).
	$(BIN)/python -m pip install -q --no-deps $(MEDIAPIPE)
	@touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Web + Celery worker + engine worker + beat, on embedded defaults unless .env says otherwise.
# Served as in production (DEBUG=False: no debug pages, whitenoise's hashed static files)
# but on loopback over plain HTTP (PORTAL_LOCAL=1: no HTTPS redirect, no HSTS). The first
# run draws random secrets into $(VAR_DIR)/secrets.env. Debug pages: `make run DEBUG=True`.
run: export DEBUG ?= False
run: export PORTAL_LOCAL ?= 1
run: migrate
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py bootstrap
	$(BIN)/honcho start -f Procfile

test: install
	bash .ci/browser-deps
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	VAR_DIR=$(CURDIR)/var/test MEDIA_ROOT=$(CURDIR)/var/test/media $(BIN)/python -m pytest $(PYTEST_ARGS)

# Quick local loop: everything but the browser, fault and end-to-end tests (CI runs all).
test-fast: install
	VAR_DIR=$(CURDIR)/var/test MEDIA_ROOT=$(CURDIR)/var/test/media $(BIN)/python -m pytest -m "not e2e and not browser" \
	  --ignore=tests/faults --ignore=tests/browser $(PYTEST_ARGS)

# ruff (rule sets chosen in pyproject.toml): lint and import order.
lint: install
	$(BIN)/ruff check .

check-deploy: install
	DEBUG=False SECRET_KEY=$$(openssl rand -hex 32) LICENSE_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	  ALLOWED_HOSTS=portal.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var media staticfiles
