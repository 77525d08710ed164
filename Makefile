# The two commands: `make dev` runs the whole local stack, `make test` runs every test.
# `npx wrangler dev` / `npx wrangler deploy` build by themselves (wrangler.toml [build]).
.PHONY: dev test build setup bench fuzz soak deploy
dev:
	./scripts/dev.sh
test:
	./scripts/test.sh
build:
	./scripts/build.sh
setup:
	./scripts/setup.sh
bench:
	./scripts/bench.sh
fuzz:
	./scripts/fuzz.sh
soak:
	./scripts/soak.sh
deploy:
	npx wrangler deploy
