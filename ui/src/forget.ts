/** Removing a list from this laptop asks for its address to be typed
 *  again; the engine checks the same (letter case and spaces aside). */
export function confirmsForget(address: string, typed: string): boolean {
  return typed.trim().toLowerCase() === address.trim().toLowerCase() && address.trim() !== "";
}
