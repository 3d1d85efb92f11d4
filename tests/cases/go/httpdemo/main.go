// A net/http server and client in one static Go program: the server listens on a port the kernel
// chooses on 127.0.0.1, the client fetches from it several times, over new and kept-alive
// connections. Go's runtime brings threads, futexes, signals and its epoll netpoller.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from go, %s %s", r.Method, r.URL.Query().Get("n"))
	})
	go http.Serve(listener, mux)
	url := fmt.Sprintf("http://%s/hello", listener.Addr())
	client := &http.Client{}
	for i := 0; i < 3; i++ {
		response, err := client.Get(fmt.Sprintf("%s?n=%d", url, i))
		if err != nil {
			fmt.Println("get:", err)
			os.Exit(2)
		}
		body, _ := io.ReadAll(response.Body)
		response.Body.Close()
		fmt.Printf("%d %s\n", response.StatusCode, body)
	}
	response, err := http.Get(url + "?n=fresh")
	if err != nil {
		fmt.Println("get:", err)
		os.Exit(3)
	}
	body, _ := io.ReadAll(response.Body)
	fmt.Printf("%d %s\n", response.StatusCode, body)
}
