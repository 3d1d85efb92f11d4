// A static Go program: goroutines and channels, timers, asynchronous preemption (the runtime's
// SIGURG through tgkill: with one P, a goroutine spinning without calls must be preempted for
// main to run again), os/signal and os/exec. Its output does not depend on scheduling.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func spin(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i * i % 7
	}
	return x
}

func main() {
	// goroutines and channels
	ch := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); ch <- i * i }(i)
	}
	go func() { wg.Wait(); close(ch) }()
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("sum", sum)
	// timers
	t := time.NewTimer(20 * time.Millisecond)
	<-t.C
	fmt.Println("timer fired")
	tick := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-tick.C
	}
	tick.Stop()
	fmt.Println("ticker 3")
	// async preemption: a tight loop goroutine must not starve another
	done := make(chan bool)
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	start := time.Now()
	r := spin(300000000)
	_ = r
	close(done)
	fmt.Println("preempt ok", time.Since(start) < 60*time.Second)
	// with one P only asynchronous preemption lets main run past Gosched
	runtime.GOMAXPROCS(1)
	go func() {
		for {
		}
	}()
	runtime.Gosched()
	fmt.Println("spinning goroutine preempted")
	// os/signal
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	fmt.Println("got", <-sigs)
	// os/exec
	out, err := exec.Command("/bin/echo", "hello from child").Output()
	fmt.Printf("exec %q %v\n", out, err)
}
