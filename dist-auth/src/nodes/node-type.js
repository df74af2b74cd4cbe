export {};
//# sourceMappingURL=node-type.js.map