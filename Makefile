# The two commands of the README are `make up` (a local provisioned stack) and
# `make test` (every test). The other targets are their parts.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup test lint unit dev
.DEFAULT_GOAL := help

help:
	@echo "make up    provision the local stack and print its https address"
	@echo "make down  remove the local stack"
	@echo "make test  run every test (what CI runs)"
	@echo "make dev   run the app alone on http://127.0.0.1:5000 (SQLite, no other service)"
	@echo "make bench run the benchmarks and print the table"

setup:
	@ansible/bootstrap.sh

test: setup lint unit

lint:
	ruff check .
	ruff format --check .

unit:
	pytest -q tests

dev: setup
	FLASK_DEBUG=1 flask --app wsgi run --host 127.0.0.1 --port 5000
