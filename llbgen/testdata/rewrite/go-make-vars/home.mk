build:
	go build -o bin/app .
	rm -rf $(HOME)/.cache/go-build
