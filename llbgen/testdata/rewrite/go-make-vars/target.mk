build: clean
	go build -o bin/app .

clean: D = /go/pkg/mod
clean:
	rm -rf $(D)
