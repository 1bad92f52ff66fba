# The two commands of the README are `make up` (a local provisioned stack) and
# `make test` (every test). The other targets are their parts.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/ansible/podman/containers.conf
# Roles tested by Molecule, each on a fresh systemd container of each distribution.
export MOLECULE_ROLES ?= base ffmpeg redis nginx certbot
export MOLECULE_DISTROS ?= debian12 debian13
# Each lane of `make test` leaves its results here for the closing summary.
export TEST_RESULTS := $(CURDIR)/build/test-results

.PHONY: deploy-setup setup test lint lint-ansible unit lane-unit lane-stack lane-molecule multihost stack molecule tools test-multihost soak test-image test-stack-debian12 \
	test-stack-valkey test-stack-s3 dev up down rollback bench messages site audit docs
.DEFAULT_GOAL := help

help:
	@echo "make up    provision the local stack and print its https address"
	@echo "make down  remove the local stack"
	@echo "make test  run every test (what CI runs)"
	@echo "make dev   run the app alone on http://127.0.0.1:5000 (SQLite, no other service)"
	@echo "make bench run every benchmark against its baseline; prints one table"
	@echo "make docs  write the settings page and the roles' variables from the code"
	@echo "make messages  extract the text for people into the catalogs (then translate, make setup)"
	@echo "make audit  check every wheel lock against published advisories (needs the internet)"
	@echo "make deploy-setup  only the virtualenv with Ansible: all that deploying needs"
	@echo "make site DOMAIN=chat.example.com (or ADDRESS=203.0.113.7)  a new server's inventory"
	@echo "make test-stack-debian12  the full-stack test on Debian 12 (make test: Debian 13)"
	@echo "make test-stack-valkey    the full-stack test with Valkey instead of Redis"
	@echo "make test-stack-s3        the full-stack test with voice files in S3 (object_storage role)"

# Deploying needs only this (any Linux or macOS machine with Python 3.11+ and git).
deploy-setup:
	@ansible/bootstrap.sh deploy

# A new server's inventory in inventory/<NAME>/ (default: the domain or address), its
# passwords generated and vault-encrypted with a password typed here; prints the deploy
# command. Optional: NAME=, EMAIL= (the CA's contact), ADMIN= (first admin), SSH_USER=.
site: deploy-setup
	@python ansible/new_site.py $(if $(DOMAIN),--domain '$(DOMAIN)') $(if $(ADDRESS),--address '$(ADDRESS)') \
		$(if $(NAME),--name '$(NAME)') $(if $(EMAIL),--email '$(EMAIL)') $(if $(ADMIN),--admin '$(ADMIN)') \
		$(if $(SSH_USER),--ssh-user '$(SSH_USER)')

# The test toolchain as well (Debian packages, dev tools): for up, test and bench.
setup:
	@ansible/bootstrap.sh test

# The configuration reference, written from the code: docs/operators/settings.md from
# app/config.py, each roles/<role>/README.md's variables from its defaults and argument
# specs (ansible/reference.py; tests/docs/test_reference.py fails when one is out of date).
docs:
	python ansible/reference.py

# Text for people: collect every marked string (Python N_/Nn_/gettext, pages, scripts) into
# the template, merge it into each language's catalog; `make setup` compiles the catalogs.
PYBABEL_EXTRACT := -F babel.cfg -k N_ -k Nn_:1,2 --no-wrap --sort-by-file --project Natter
messages: setup
	pybabel extract $(PYBABEL_EXTRACT) -o app/translations/messages.pot .
	pybabel update --no-wrap --ignore-obsolete -i app/translations/messages.pot -d app/translations

# Three lanes that share only the machine: pytest without the full stack, then hosts apart
# with the short soak; the single-host full stack (mostly waiting on package installs and
# systemd in its container); and the Molecule matrix, then the tests of the operators' and
# developers' tools (tests/ops, the benchmarks' smoke run). Side by side they keep CI's
# whole run near the hour on two cores; hosts apart waits for the unit tests so that no
# more than three things run at once. The matrix leaves out, on Debian 13 only, what the
# full stack and hosts apart already converge there, run twice (the second run changes
# nothing) and use for real: ffmpeg (transcoding a recording), redis (its verify runs on 13
# in the valkey scenario) and certbot's address scenario (the stack's address test issues
# and serves a certificate for the host's address); `make molecule` runs all of it.
# Each lane's later parts run even when an earlier one failed: one CI run reports all.
# The last lines name each lane's outcome and every failing test (tests/lane_summary.py).
MOLECULE_COVERED_BY_STACK := ffmpeg/default/debian13 redis/default/debian13 certbot/address/debian13
test: setup lint lint-ansible audit
	@rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	@$(MAKE) --no-print-directory -j3 --output-sync=line lane-unit lane-stack lane-molecule; \
		status=$$?; python -m tests.lane_summary $(TEST_RESULTS); exit $$status

lane-unit:
	@$(MAKE) --no-print-directory unit; unit=$$?; \
		$(MAKE) --no-print-directory multihost; multihost=$$?; \
		exit $$(( unit || multihost ))

lane-stack:
	@$(MAKE) --no-print-directory stack

lane-molecule:
	@MOLECULE_SKIP="$(MOLECULE_COVERED_BY_STACK)" ansible/molecule-matrix.sh; molecule=$$?; \
		$(MAKE) --no-print-directory tools; tools=$$?; \
		exit $$(( molecule || tools ))

# The wheel locks against published advisories (pip-audit). Where the advisory source is
# out of reach (no internet) it says "NOT AUDITED" and passes; STRICT=1 fails then too.
audit: setup
	python ansible/audit.py $(if $(STRICT),--strict)

lint:
	ruff check .
	ruff format --check .

lint-ansible:
	yamllint .
	ansible-lint

test-image:
	@ansible/test-image/build.sh

molecule:
	@ansible/molecule-matrix.sh

# The tools' tests (tests/ops, the benchmarks' smoke run) run in the Molecule lane.
TOOLS_TESTS := tests/ops tests/benchmarks/test_smoke.py
unit:
	pytest -q tests --ignore=tests/stack $(TOOLS_TESTS:%=--ignore=%) --junitxml=$(TEST_RESULTS)/unit.xml

tools:
	pytest -q $(TOOLS_TESTS) --junitxml=$(TEST_RESULTS)/tools.xml

stack:
	pytest -q tests/stack --ignore=tests/stack/test_multi_host.py --junitxml=$(TEST_RESULTS)/stack.xml

# Hosts apart: six containers provisioned by site.yml (tests/stack/test_multi_host.py),
# ending with the short soak with faults on the same hosts (SOAK_SECONDS, default 150).
multihost:
	pytest -q tests/stack/test_multi_host.py --junitxml=$(TEST_RESULTS)/multihost.xml

test-multihost: setup
	@mkdir -p $(TEST_RESULTS) && $(MAKE) --no-print-directory multihost

# The soak alone on a fresh hosts-apart stack (provisioning first, ~14 min; make test runs
# the short one after hosts apart's other tests): people chat
# through Nginx while faults come and go, then the checker prints its table (also in
# build/soak/table.txt). SOAK_SECONDS (default 150), SOAK_PEOPLE (12), SOAK_CONVERSATIONS
# (4), SOAK_RATE (2 sends/s); the long run: SOAK_SECONDS=1800 SOAK_PEOPLE=60
# SOAK_CONVERSATIONS=20 make soak (docs/developers/soak.md).
soak: setup
	pytest -q -s tests/stack/test_multi_host.py -k soak

# The full stack runs on Debian 13 in `make test`; these run it on Debian 12, with
# Valkey instead of Redis, and with voice files in S3 on the same host's RADOS Gateway
# (site.yml's storage group; Debian 13 only). Optional: before a release, or weekly.
test-stack-debian12: setup
	NATTER_DISTRO=debian12 pytest -q tests/stack --ignore=tests/stack/test_multi_host.py

test-stack-valkey: setup
	NATTER_REDIS_FLAVOR=valkey pytest -q tests/stack --ignore=tests/stack/test_multi_host.py

test-stack-s3: setup
	NATTER_STORAGE_BACKEND=s3 pytest -q tests/stack --ignore=tests/stack/test_multi_host.py

up: setup
	@ansible/local-stack.sh up

down:
	@ansible/local-stack.sh down

rollback: setup
	@ansible/local-stack.sh rollback

bench: setup
	python -m tests.benchmarks

dev: setup
	APP_ENV=development flask --app wsgi db upgrade
	APP_ENV=development FLASK_DEBUG=1 flask --app wsgi run --host 127.0.0.1 --port 5000
