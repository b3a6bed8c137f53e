module example.com/go-workspace/cmd/server

go 1.26.0
