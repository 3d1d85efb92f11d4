module trapeze.test/httpdemo

go 1.19
