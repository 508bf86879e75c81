// Command sarama prints where Sarama's default (hash) partitioner places each key of keys.txt,
// for the partition counts given: key TAB partitions TAB partition. It is not part of the build
// (testdata); run it in a module of its own:
//
//	go mod init saramavec && go get github.com/IBM/sarama && go run . ../keys.txt 1 2 3
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

func main() {
	f, _ := os.Open(os.Args[1])
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		key := line
		if key == "<empty>" {
			key = ""
		}
		for _, a := range os.Args[2:] {
			n, _ := strconv.Atoi(a)
			p := sarama.NewHashPartitioner("t")
			got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, int32(n))
			if err != nil {
				panic(err)
			}
			fmt.Printf("%s\t%d\t%d\n", line, n, got)
		}
	}
}
