// Command go-cross reports the platform it was built for and a few CPU
// features; the Dockerfile cross-compiles it on the build platform.
package main

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/cpu"
)

func main() {
	fmt.Printf("platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
	switch runtime.GOARCH {
	case "amd64":
		fmt.Printf("avx2=%t sse4.2=%t\n", cpu.X86.HasAVX2, cpu.X86.HasSSE42)
	case "arm64":
		fmt.Printf("aes=%t atomics=%t\n", cpu.ARM64.HasAES, cpu.ARM64.HasATOMICS)
	default:
		fmt.Println("no feature report for this architecture")
	}
}
