// Generated copy of the repository root nodes.json, compiled in so a moved binary still has its
// node catalogue. Do not edit: change nodes.json, then regenerate as docs/NODES.md ("Changing
// nodes.json") shows. NodeCatalogTests fails while this copy and nodes.json differ.
let embeddedNodesJSON = #"""
{
  "CheckpointLoaderSimple": {
    "input": {
      "required": {
        "ckpt_name": [
          [],
          {
            "tooltip": "The name of the checkpoint (model) to load."
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "ckpt_name"
      ]
    },
    "output": [
      "MODEL",
      "CLIP",
      "VAE"
    ],
    "output_is_list": [
      false,
      false,
      false
    ],
    "output_name": [
      "MODEL",
      "CLIP",
      "VAE"
    ],
    "name": "CheckpointLoaderSimple",
    "display_name": "Load Checkpoint",
    "description": "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
    "python_module": "nodes",
    "category": "loaders",
    "output_node": false,
    "output_tooltips": [
      "The model used for denoising latents.",
      "The CLIP model used for encoding text prompts.",
      "The VAE model used for encoding and decoding images to and from latent space."
    ]
  },
  "LTListLayers": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model to list layers from"
          }
        ],
        "filter": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Filter layer names (substring match)"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "filter"
      ]
    },
    "output": [
      "STRING"
    ],
    "output_is_list": [
      false
    ],
    "output_name": [
      "layer_names"
    ],
    "name": "LTListLayers",
    "display_name": "LTListLayers",
    "description": "List all layers in a model",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": false
  },
  "LTVisualizeWeights": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model to visualize weights from"
          }
        ],
        "layer_name": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layer name to visualize (e.g., 'input_blocks.1.1.conv')"
          }
        ],
        "num_filters": [
          "INT",
          {
            "default": 16,
            "min": 1,
            "max": 256,
            "tooltip": "Number of filters to visualize"
          }
        ],
        "visualization_mode": [
          [
            "weights",
            "expanded",
            "both"
          ],
          {
            "default": "both",
            "tooltip": "Visualization mode: weights, expanded (factorized), or both"
          }
        ]
      },
      "optional": {
        "colormap": [
          [
            "diverging",
            "grayscale",
            "magnitude",
            "redblue",
            "viridis"
          ],
          {
            "default": "diverging",
            "tooltip": "Colour map: diverging (blue-white-red, signed), grayscale, magnitude (|v|), redblue (signed, dark centre) or viridis"
          }
        ],
        "components": [
          "INT",
          {
            "default": 6,
            "min": 1,
            "max": 64,
            "tooltip": "SVD components drawn by the expanded view"
          }
        ],
        "max_side": [
          "INT",
          {
            "default": 2048,
            "min": 256,
            "max": 8192,
            "step": 64,
            "tooltip": "Longest side of each picture in pixels"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "layer_name",
        "num_filters",
        "visualization_mode"
      ],
      "optional": [
        "colormap",
        "components",
        "max_side"
      ]
    },
    "output": [],
    "output_is_list": [],
    "output_name": [],
    "name": "LTVisualizeWeights",
    "display_name": "LTVisualizeWeights",
    "description": "Visualize model weights to understand learned features (Distill Circuits style)",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true
  },
  "ShowText|pysssss": {
    "input": {
      "required": {
        "text": [
          "STRING",
          {
            "forceInput": true
          }
        ]
      },
      "hidden": {
        "unique_id": "UNIQUE_ID",
        "extra_pnginfo": "EXTRA_PNGINFO"
      }
    },
    "input_order": {
      "required": [
        "text"
      ],
      "hidden": [
        "unique_id",
        "extra_pnginfo"
      ]
    },
    "output": [
      "STRING"
    ],
    "output_is_list": [
      true
    ],
    "output_name": [
      "STRING"
    ],
    "name": "ShowText|pysssss",
    "display_name": "Show Text 🐍",
    "description": "",
    "python_module": "custom_nodes.ComfyUI-Custom-Scripts",
    "category": "utils",
    "output_node": true
  },
  "PreviewImage": {
    "input": {
      "required": {
        "images": [
          "IMAGE"
        ]
      },
      "hidden": {
        "prompt": "PROMPT",
        "extra_pnginfo": "EXTRA_PNGINFO"
      }
    },
    "input_order": {
      "required": [
        "images"
      ],
      "hidden": [
        "prompt",
        "extra_pnginfo"
      ]
    },
    "output": [],
    "output_is_list": [],
    "output_name": [],
    "name": "PreviewImage",
    "display_name": "Preview Image",
    "description": "Saves the input images to your ComfyUI output directory.",
    "python_module": "nodes",
    "category": "image",
    "output_node": true
  },
  "SaveImage": {
    "input": {
      "required": {
        "images": [
          "IMAGE",
          {
            "tooltip": "The images to save."
          }
        ],
        "filename_prefix": [
          "STRING",
          {
            "default": "ComfyUI",
            "tooltip": "The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."
          }
        ]
      },
      "hidden": {
        "prompt": "PROMPT",
        "extra_pnginfo": "EXTRA_PNGINFO"
      }
    },
    "input_order": {
      "required": [
        "images",
        "filename_prefix"
      ],
      "hidden": [
        "prompt",
        "extra_pnginfo"
      ]
    },
    "output": [],
    "output_is_list": [],
    "output_name": [],
    "name": "SaveImage",
    "display_name": "Save Image",
    "description": "Saves the input images to your ComfyUI output directory.",
    "python_module": "nodes",
    "category": "image",
    "output_node": true
  },
  "LTWeightNMF": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model whose weights are analysed"
          }
        ],
        "layer_name": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layer to factor (name, full tensor key), e.g. 'input_blocks.1.0.in_layers.2'"
          }
        ],
        "num_filters": [
          "INT",
          {
            "default": 16,
            "min": 1,
            "max": 256,
            "tooltip": "Output channels factored together and drawn"
          }
        ],
        "rank": [
          "INT",
          {
            "default": 3,
            "min": 1,
            "max": 8,
            "tooltip": "Number of non-negative factors (the first three are drawn as red, green, blue)"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "layer_name",
        "num_filters",
        "rank"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTWeightNMF",
    "display_name": "LTWeightNMF",
    "description": "One-sided NMF of a layer's input channels (Distill): each output channel's kernel in a few non-negative factors, drawn as RGB",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "LTWeightStats": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model whose weights are analysed"
          }
        ],
        "filter": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layers to include: substring, glob (*attn1*), block (IN04, IN00-M00) or empty for all"
          }
        ],
        "bins": [
          "INT",
          {
            "default": 64,
            "min": 8,
            "max": 512,
            "tooltip": "Histogram bins"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "filter",
        "bins"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTWeightStats",
    "display_name": "LTWeightStats",
    "description": "Histograms and statistics of the weights of the matching layers",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "LTModelOverview": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model whose weights are analysed"
          }
        ],
        "filter": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layers to include: substring, glob, block (IN04, IN00-M00) or empty for all"
          }
        ],
        "metric": [
          [
            "alpha",
            "alpha_weighted",
            "stable_rank",
            "spectral_norm",
            "l2_norm",
            "std",
            "dead_fraction"
          ],
          {
            "default": "alpha",
            "tooltip": "Metric drawn (the report holds every metric)"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "filter",
        "metric"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTModelOverview",
    "display_name": "LTModelOverview",
    "description": "One metric for every matching 2-D/4-D weight along the network's depth, grouped by block, outliers named",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "UNETLoader": {
    "input": {
      "required": {
        "unet_name": [
          []
        ],
        "weight_dtype": [
          [
            "default",
            "fp8_e4m3fn",
            "fp8_e4m3fn_fast",
            "fp8_e5m2"
          ]
        ]
      }
    },
    "input_order": {
      "required": [
        "unet_name",
        "weight_dtype"
      ]
    },
    "output": [
      "MODEL"
    ],
    "output_is_list": [
      false
    ],
    "output_name": [
      "MODEL"
    ],
    "name": "UNETLoader",
    "display_name": "Load Diffusion Model",
    "description": "",
    "python_module": "nodes",
    "category": "advanced/loaders",
    "output_node": false
  },
  "UnetLoaderGGUF": {
    "input": {
      "required": {
        "unet_name": [
          []
        ]
      }
    },
    "input_order": {
      "required": [
        "unet_name"
      ]
    },
    "output": [
      "MODEL"
    ],
    "output_is_list": [
      false
    ],
    "output_name": [
      "MODEL"
    ],
    "name": "UnetLoaderGGUF",
    "display_name": "Unet Loader (GGUF)",
    "description": "",
    "python_module": "custom_nodes.ComfyUI-GGUF",
    "category": "bootleg",
    "output_node": false
  },
  "LTExpandedWeights": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model whose weights are analysed"
          }
        ],
        "layer_name": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "conv_chain: comma list of consecutive convolutions; attention_qk / attention_ov: an attention module, e.g. '…transformer_blocks.0.attn1'"
          }
        ],
        "mode": [
          [
            "conv_chain",
            "attention_qk",
            "attention_ov"
          ],
          {
            "default": "conv_chain",
            "tooltip": "What to expand"
          }
        ],
        "head": [
          "INT",
          {
            "default": -1,
            "min": -1,
            "max": 255,
            "tooltip": "Attention head (0-based), -1 for all heads"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "layer_name",
        "mode",
        "head"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTExpandedWeights",
    "display_name": "LTExpandedWeights",
    "description": "Expanded weights (Distill): consecutive convolutions composed into one kernel, or an attention module's per-head QK and OV circuits with their spectra",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "LTTopInputs": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The model whose weights are analysed"
          }
        ],
        "layer_name": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layer (name, full tensor key)"
          }
        ],
        "output_channel": [
          "INT",
          {
            "default": 0,
            "min": 0,
            "max": 1000000,
            "tooltip": "Output channel (0-based)"
          }
        ],
        "top_k": [
          "INT",
          {
            "default": 8,
            "min": 1,
            "max": 64,
            "tooltip": "Input channels shown"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "layer_name",
        "output_channel",
        "top_k"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTTopInputs",
    "display_name": "LTTopInputs",
    "description": "Small multiples (Distill): one output channel's strongest input channels by weight norm, as kernels on a shared scale",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "LTCompareModels": {
    "input": {
      "required": {
        "model_a": [
          "MODEL",
          {
            "tooltip": "Model A, the reference (e.g. the base checkpoint)"
          }
        ],
        "model_b": [
          "MODEL",
          {
            "tooltip": "Model B, compared with A (a fine-tune, a merge, or A with a LoRA applied)"
          }
        ],
        "filter": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layers to include: substring, glob, block (IN04, IN00-M00) or empty for all"
          }
        ],
        "metric": [
          [
            "relative_change",
            "cosine",
            "delta_l2",
            "delta_spectral_norm"
          ],
          {
            "default": "relative_change",
            "tooltip": "Metric drawn: |B-A|/|A|, cosine similarity of A and B, |B-A|, or the largest singular value of B-A (computed only when chosen)"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model_a",
        "model_b",
        "filter",
        "metric"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTCompareModels",
    "display_name": "LTCompareModels",
    "description": "What changed from model A to model B, layer by layer along the network's depth: relative change, cosine similarity, |B-A| and its spectral norm; the most changed layers named",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The comparison chart as an image batch",
      "The report as JSON text"
    ]
  },
  "LoraLoader": {
    "input": {
      "required": {
        "model": [
          "MODEL",
          {
            "tooltip": "The diffusion model the LoRA will be applied to."
          }
        ],
        "clip": [
          "CLIP",
          {
            "tooltip": "The CLIP model the LoRA will be applied to."
          }
        ],
        "lora_name": [
          [],
          {
            "tooltip": "The name of the LoRA."
          }
        ],
        "strength_model": [
          "FLOAT",
          {
            "default": 1.0,
            "min": -100.0,
            "max": 100.0,
            "step": 0.01,
            "tooltip": "How strongly to modify the diffusion model. This value can be negative."
          }
        ],
        "strength_clip": [
          "FLOAT",
          {
            "default": 1.0,
            "min": -100.0,
            "max": 100.0,
            "step": 0.01,
            "tooltip": "How strongly to modify the CLIP model. This value can be negative."
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "clip",
        "lora_name",
        "strength_model",
        "strength_clip"
      ]
    },
    "output": [
      "MODEL",
      "CLIP"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "MODEL",
      "CLIP"
    ],
    "name": "LoraLoader",
    "display_name": "Load LoRA",
    "description": "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.",
    "python_module": "nodes",
    "category": "loaders",
    "output_node": false,
    "output_tooltips": [
      "The modified diffusion model.",
      "The modified CLIP model."
    ]
  },
  "LoraLoaderModelOnly": {
    "input": {
      "required": {
        "model": [
          "MODEL"
        ],
        "lora_name": [
          []
        ],
        "strength_model": [
          "FLOAT",
          {
            "default": 1.0,
            "min": -100.0,
            "max": 100.0,
            "step": 0.01
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model",
        "lora_name",
        "strength_model"
      ]
    },
    "output": [
      "MODEL"
    ],
    "output_is_list": [
      false
    ],
    "output_name": [
      "MODEL"
    ],
    "name": "LoraLoaderModelOnly",
    "display_name": "LoraLoaderModelOnly",
    "description": "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.",
    "python_module": "nodes",
    "category": "loaders",
    "output_node": false,
    "output_tooltips": [
      "The modified diffusion model."
    ]
  },
  "LTLoraInspect": {
    "input": {
      "required": {
        "lora_name": [
          [],
          {
            "tooltip": "The LoRA to inspect (models/loras)"
          }
        ]
      },
      "optional": {
        "model": [
          "MODEL",
          {
            "tooltip": "Base model: layer names, blocks and |dW|/|W| come from it"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "lora_name"
      ],
      "optional": [
        "model"
      ]
    },
    "output": [
      "IMAGE",
      "STRING"
    ],
    "output_is_list": [
      false,
      false
    ],
    "output_name": [
      "image",
      "report"
    ],
    "name": "LTLoraInspect",
    "display_name": "LTLoraInspect",
    "description": "Where a LoRA acts: per layer rank, alpha, scale, |dW|, top singular values and |dW|/|W| along the blocks, text-encoder layers apart, unmatched keys, training metadata",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true,
    "output_tooltips": [
      "The pictures as an image batch",
      "The report as JSON text"
    ]
  },
  "LTVisualizeDelta": {
    "input": {
      "required": {
        "model_a": [
          "MODEL",
          {
            "tooltip": "Model A, the reference (e.g. the base checkpoint)"
          }
        ],
        "model_b": [
          "MODEL",
          {
            "tooltip": "Model B; the pictures show B - A (with a LoRA-patched model B: the LoRA's contribution)"
          }
        ],
        "layer_name": [
          "STRING",
          {
            "default": "",
            "multiline": false,
            "tooltip": "Layer whose change is drawn (e.g. 'input_blocks.4.1.proj_in'); empty lists the layers both models have"
          }
        ],
        "num_filters": [
          "INT",
          {
            "default": 16,
            "min": 1,
            "max": 256,
            "tooltip": "Number of filters to visualize"
          }
        ],
        "visualization_mode": [
          [
            "weights",
            "expanded",
            "both"
          ],
          {
            "default": "both",
            "tooltip": "Visualization mode: weights, expanded (factorized), or both"
          }
        ]
      },
      "optional": {
        "colormap": [
          [
            "diverging",
            "grayscale",
            "magnitude",
            "redblue",
            "viridis"
          ],
          {
            "default": "diverging",
            "tooltip": "Colour map: diverging (blue-white-red, signed), grayscale, magnitude (|v|), redblue (signed, dark centre) or viridis"
          }
        ],
        "components": [
          "INT",
          {
            "default": 6,
            "min": 1,
            "max": 64,
            "tooltip": "SVD components drawn by the expanded view"
          }
        ],
        "max_side": [
          "INT",
          {
            "default": 2048,
            "min": 256,
            "max": 8192,
            "step": 64,
            "tooltip": "Longest side of each picture in pixels"
          }
        ]
      }
    },
    "input_order": {
      "required": [
        "model_a",
        "model_b",
        "layer_name",
        "num_filters",
        "visualization_mode"
      ],
      "optional": [
        "colormap",
        "components",
        "max_side"
      ]
    },
    "output": [],
    "output_is_list": [],
    "output_name": [],
    "name": "LTVisualizeDelta",
    "display_name": "LTVisualizeDelta",
    "description": "LTVisualizeWeights' pictures of the change of one layer, B - A: what a fine-tune, a merge or a LoRA did to it",
    "python_module": "custom_nodes.latent-tools",
    "category": "LatentTools",
    "output_node": true
  }
}

"""#
