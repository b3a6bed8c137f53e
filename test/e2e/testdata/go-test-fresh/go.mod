module example.com/flavor

go 1.22
