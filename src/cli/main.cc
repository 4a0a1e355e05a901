#include <cstdio>
int main() { std::puts("r1d"); return 0; }
