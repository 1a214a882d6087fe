package main

func scaleOnPaper(results []*result) string { return "" }
